-- Closings in the range and the time from the case's opening to each, per group and template
-- (REPORTS["time-to-close"]).
WITH closings AS (
    SELECT
        event_id,
        max(occurred_at) AS occurred_at,
        max(opened_at) AS opened_at,
        max(template_key) AS template_key,
        max(owner) AS owner,
        max(assigned_role) AS assigned_role
    FROM lake_events
    WHERE dt BETWEEN $first_dt AND $last_dt
        AND occurred_at >= $start_at AND occurred_at < $end_at
        AND type = 'case.closed'
        AND $template_filter
    GROUP BY event_id
),
grouped AS (
    SELECT
        $group_value AS grp,
        template_key,
        CAST(date_diff('millisecond', opened_at, occurred_at) AS DOUBLE) / 3600000 AS hours
    FROM closings
)
SELECT
    grp AS group_value,
    template_key,
    count(*) AS closed,
    approx_quantile(hours, 0.5) AS p50_hours,
    approx_quantile(hours, 0.9) AS p90_hours
FROM grouped
GROUP BY grp, template_key
ORDER BY grp, template_key
