-- Visits to each stage that ended in the range, per group, template and stage, with their durations
-- (REPORTS["stage-times"]). A visit may have begun long before the range, so the history of the events that move a
-- case between stages is read up to the end of the range.
WITH moves AS (
    -- One row per move: each move makes a new version of its case, so (case_id, case_version) names it as its
    -- event_id does, and is far cheaper to read than the ULIDs.
    SELECT
        case_id,
        case_version,
        max(type) AS type,
        max(occurred_at) AS occurred_at,
        max(template_key) AS template_key,
        max(stage) AS stage,
        max(stage_entered_at) AS stage_entered_at,
        max(owner) AS owner,
        max(assigned_role) AS assigned_role
    FROM lake_events
    WHERE dt <= $last_dt
        AND occurred_at < $end_at
        AND type IN (
            'case.opened', 'case.stage_changed', 'case.reopened', 'case.migrated', 'case.closed', 'case.cancelled'
        )
        AND $template_filter
    GROUP BY case_id, case_version
),
visits AS (
    -- The stage a move left, and when the case entered it, are what the case's previous move left it with.
    SELECT
        type,
        occurred_at,
        template_key,
        owner,
        assigned_role,
        lag(stage) OVER (PARTITION BY case_id ORDER BY occurred_at, case_version) AS visited,
        lag(stage_entered_at) OVER (PARTITION BY case_id ORDER BY occurred_at, case_version) AS entered_at
    FROM moves
),
ended AS (
    SELECT
        $group_value AS grp,
        template_key,
        visited,
        CAST(date_diff('millisecond', entered_at, occurred_at) AS DOUBLE) / 3600000 AS hours
    FROM visits
    WHERE type IN ('case.stage_changed', 'case.closed', 'case.cancelled')
        AND occurred_at >= $start_at
        AND entered_at IS NOT NULL
)
SELECT
    grp AS group_value,
    template_key,
    visited AS stage,
    count(*) AS visits,
    approx_quantile(hours, 0.5) AS p50_hours,
    approx_quantile(hours, 0.9) AS p90_hours
FROM ended
GROUP BY grp, template_key, visited
ORDER BY grp, template_key, visited
