"""The worker pipeline: a delivery's mirror update, sync and regeneration, in a budgeted process;
commit statuses and the export push after it."""
