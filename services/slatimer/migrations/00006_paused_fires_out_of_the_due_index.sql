-- +goose Up
-- A paused clock's fires stay pending (resuming moves them) but cannot fire.
-- Left in the due index, every claim of the firing loop had to step over
-- them, and those of cases waiting weeks for the customer pile up behind
-- now: with 200,000 of them a claim took long enough that 1,000 due fires a
-- second fell minutes behind. timer_fires.paused mirrors deadlines.paused_at
-- (the trigger below keeps it) and the due index leaves paused fires out.
-- The claim still checks deadlines.paused_at itself: the flag only keeps
-- paused rows out of the index walk. It can be false for a paused
-- deadline's fire (one written while the deadline was paused), which the
-- claim then steps over as before, but never true for a running clock's,
-- since every change of paused_at sets it.
ALTER TABLE timer_fires ADD COLUMN paused boolean NOT NULL DEFAULT false;
UPDATE timer_fires f SET paused = true FROM deadlines d
WHERE d.case_id = f.case_id AND d.kind = f.kind AND d.paused_at IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION timer_fires_follow_pause() RETURNS trigger AS $$
BEGIN
    UPDATE timer_fires SET paused = (NEW.paused_at IS NOT NULL)
    WHERE case_id = NEW.case_id AND kind = NEW.kind AND paused IS DISTINCT FROM (NEW.paused_at IS NOT NULL);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER deadlines_pause_moves_fires AFTER UPDATE OF paused_at ON deadlines
    FOR EACH ROW WHEN (OLD.paused_at IS DISTINCT FROM NEW.paused_at)
    EXECUTE FUNCTION timer_fires_follow_pause();

DROP INDEX timer_fires_due;
CREATE INDEX timer_fires_due ON timer_fires (fire_at) WHERE fired_at IS NULL AND NOT cancelled AND NOT paused;

-- +goose Down
DROP INDEX timer_fires_due;
CREATE INDEX timer_fires_due ON timer_fires (fire_at) WHERE fired_at IS NULL AND NOT cancelled;
DROP TRIGGER deadlines_pause_moves_fires ON deadlines;
DROP FUNCTION timer_fires_follow_pause();
ALTER TABLE timer_fires DROP COLUMN paused;
