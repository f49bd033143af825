"""How the client's records read to a person: the wording and text tables that every
renderer and the command line share, so a job or a quota reads the same everywhere."""
