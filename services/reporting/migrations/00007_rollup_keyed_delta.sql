-- +goose Up
-- A pass expands its staged cases into keyed counts once, by branch, and
-- sums those up to region and bank level (expanding each case once per
-- level cost three times as much). Like rollup_src it lives inside one pass.
CREATE UNLOGGED TABLE rollup_keyed_delta (
    bank      text   NOT NULL,
    branch_id text   NOT NULL,
    region_id text   NOT NULL,
    month     date   NOT NULL,
    metric    text   NOT NULL,
    key       text   NOT NULL,
    n         bigint NOT NULL,
    amount    bigint NOT NULL
);

-- +goose Down
DROP TABLE rollup_keyed_delta;
