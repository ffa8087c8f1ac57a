-- Cases open at the end of the range, per template and stage (REPORTS["open-stages"]). Every case's history up to
-- the end of the range is read, as a case opened long before may still be open.
WITH ranked AS (
    -- Only the events that change a case's stage, status, owner or role: every other row repeats the state of the
    -- change before it. A duplicate of the newest row is the same state, so it needs no deduplication.
    SELECT
        template_key,
        stage,
        status,
        owner,
        assigned_role,
        stage_entered_at,
        occurred_at,
        row_number() OVER (PARTITION BY case_id ORDER BY case_version DESC, occurred_at DESC) AS newest,
        -- The newest change read is the figures' "now", so a range ending today counts no hours the lake has not
        -- seen (a window, not a second query: Athena would read the lake again for it).
        max(occurred_at) OVER () AS newest_at
    FROM lake_events
    WHERE dt <= $last_dt
        AND occurred_at < $end_at
        AND type IN (
            'case.opened', 'case.stage_changed', 'case.assigned', 'case.role_assigned', 'case.closed',
            'case.cancelled', 'case.reopened', 'case.migrated'
        )
        AND $template_filter
),
open_cases AS (
    SELECT
        $group_value AS grp,
        template_key,
        stage,
        CAST(date_diff('millisecond', stage_entered_at, newest_at) AS DOUBLE) / 3600000 AS hours
    FROM ranked
    WHERE newest = 1 AND status = 'open'
)
SELECT
    grp AS group_value,
    template_key,
    stage,
    count(*) AS open_cases,
    approx_quantile(hours, 0.5) AS median_hours_in_stage
FROM open_cases
GROUP BY grp, template_key, stage
ORDER BY grp, template_key, stage
