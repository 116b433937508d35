-- Runs once, when the stack's PostgreSQL volume is first initialised. The dockyard
-- database itself comes from POSTGRES_DB; Temporal keeps its two stores beside it.
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
