-- Earlier builds saved the last good stack file's text as it was, literal
-- passwords included. That copy is only a fallback for a broken edit: the
-- next clean load saves it again, without secrets. Deleted pages are
-- overwritten (secure_delete is on for every connection).
DELETE FROM stack_definitions;
