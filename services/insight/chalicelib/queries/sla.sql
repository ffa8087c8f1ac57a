-- Stage visits entered, SLA warnings and breaches, and their rates, per period, template and stage (REPORTS["sla"]).
WITH unique_events AS (
    SELECT
        event_id,
        max(type) AS type,
        max(occurred_at) AS occurred_at,
        max(template_key) AS template_key,
        max(stage) AS stage,
        max(sla_stage) AS sla_stage,
        max(owner) AS owner,
        max(assigned_role) AS assigned_role
    FROM lake_events
    WHERE dt BETWEEN $first_dt AND $last_dt
        AND occurred_at >= $start_at AND occurred_at < $end_at
        AND type IN ('case.opened', 'case.stage_changed', 'case.reopened', 'sla.warning', 'sla.breached')
        AND $template_filter
    GROUP BY event_id
),
counted AS (
    -- An SLA event counts under the stage whose SLA (or whose task's SLA) it concerns, an entry under the stage
    -- the case entered.
    SELECT
        $group_value AS grp,
        template_key,
        CASE WHEN type IN ('sla.warning', 'sla.breached') THEN sla_stage ELSE stage END AS stage,
        type
    FROM unique_events
)
SELECT
    grp AS group_value,
    template_key,
    stage,
    count(*) FILTER (WHERE type NOT IN ('sla.warning', 'sla.breached')) AS visits_entered,
    count(*) FILTER (WHERE type = 'sla.warning') AS warnings,
    count(*) FILTER (WHERE type = 'sla.breached') AS breaches,
    CAST(count(*) FILTER (WHERE type = 'sla.warning') AS DOUBLE)
        / NULLIF(count(*) FILTER (WHERE type NOT IN ('sla.warning', 'sla.breached')), 0) AS warning_rate,
    CAST(count(*) FILTER (WHERE type = 'sla.breached') AS DOUBLE)
        / NULLIF(count(*) FILTER (WHERE type NOT IN ('sla.warning', 'sla.breached')), 0) AS breach_rate
FROM counted
GROUP BY grp, template_key, stage
ORDER BY grp, template_key, stage
