-- Cases opened, closed, cancelled and reopened in the range, per group and template (REPORTS["throughput"]).
WITH unique_events AS (
    -- One row per event_id: the lake may hold an event twice (redelivery, backfill).
    SELECT
        event_id,
        max(type) AS type,
        max(occurred_at) AS occurred_at,
        max(template_key) AS template_key,
        max(owner) AS owner,
        max(assigned_role) AS assigned_role
    FROM lake_events
    WHERE dt BETWEEN $first_dt AND $last_dt
        AND occurred_at >= $start_at AND occurred_at < $end_at
        AND type IN ('case.opened', 'case.closed', 'case.cancelled', 'case.reopened')
        AND $template_filter
    GROUP BY event_id
),
grouped AS (
    SELECT $group_value AS grp, template_key, type FROM unique_events
)
SELECT
    grp AS group_value,
    template_key,
    count(*) FILTER (WHERE type = 'case.opened') AS opened,
    count(*) FILTER (WHERE type = 'case.closed') AS closed,
    count(*) FILTER (WHERE type = 'case.cancelled') AS cancelled,
    count(*) FILTER (WHERE type = 'case.reopened') AS reopened,
    CAST(count(*) FILTER (WHERE type = 'case.reopened') AS DOUBLE)
        / NULLIF(count(*) FILTER (WHERE type = 'case.closed'), 0) AS reopen_rate
FROM grouped
GROUP BY grp, template_key
ORDER BY grp, template_key
