-- Automation runs, refusals and failures in the range, per group and template (REPORTS["automations"]).
WITH unique_events AS (
    SELECT
        event_id,
        max(type) AS type,
        max(occurred_at) AS occurred_at,
        max(template_key) AS template_key,
        max(owner) AS owner,
        max(assigned_role) AS assigned_role,
        bool_or(automation_failed) AS failed
    FROM lake_events
    WHERE dt BETWEEN $first_dt AND $last_dt
        AND occurred_at >= $start_at AND occurred_at < $end_at
        AND type IN ('automation.ran', 'automation.refused')
        AND $template_filter
    GROUP BY event_id
),
grouped AS (
    SELECT $group_value AS grp, template_key, type, failed FROM unique_events
)
SELECT
    grp AS group_value,
    template_key,
    count(*) FILTER (WHERE type = 'automation.ran') AS runs,
    count(*) FILTER (WHERE type = 'automation.refused') AS refused,
    count(*) FILTER (WHERE type = 'automation.refused' OR failed) AS failures,
    CAST(count(*) FILTER (WHERE type = 'automation.refused' OR failed) AS DOUBLE) / count(*) AS failure_rate
FROM grouped
GROUP BY grp, template_key
ORDER BY grp, template_key
