-- +goose Up
-- The return-visit survey: its message is a delivery (template
-- 'case_survey'), whose id is the survey id the signed link names. A row
-- here says that survey was answered, once: the primary key refuses a
-- second answer through the same link, and the row commits in the same
-- transaction as the answer reached intake. The answer itself (score and
-- comment) is recorded on the case at intake, which seals the comment: none
-- of it is kept here.
CREATE TABLE survey_answers (
    survey_id   uuid        PRIMARY KEY,  -- deliveries.id of the case_survey message
    tenant_id   text        NOT NULL,
    case_id     uuid        NOT NULL,
    answered_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE survey_answers;
