-- Portal links issued and used, documents and comments from clients, per group and template (REPORTS["portal"]).
WITH unique_events AS (
    SELECT
        event_id,
        max(type) AS type,
        max(occurred_at) AS occurred_at,
        max(template_key) AS template_key,
        max(owner) AS owner,
        max(assigned_role) AS assigned_role,
        max(actor_kind) AS actor_kind,
        max(actor_id) AS actor_id,
        max(participant_id) AS participant_id
    FROM lake_events
    WHERE dt BETWEEN $first_dt AND $last_dt
        AND occurred_at >= $start_at AND occurred_at < $end_at
        AND (type = 'portal.link_issued' OR actor_kind = 'external')
        AND $template_filter
    GROUP BY event_id
),
counted AS (
    SELECT
        $group_value AS grp,
        template_key,
        type,
        actor_kind,
        -- A link issued in the range was used if its participant acted after it was issued (so in the range too):
        -- the participant's last action, over the rows of that participant (a window, not a join of the events
        -- with themselves: Athena would read the lake twice).
        type = 'portal.link_issued' AND max(CASE WHEN actor_kind = 'external' THEN occurred_at END) OVER (
            PARTITION BY CASE WHEN type = 'portal.link_issued' THEN participant_id ELSE actor_id END
        ) > occurred_at AS used
    FROM unique_events
)
SELECT
    grp AS group_value,
    template_key,
    count(*) FILTER (WHERE type = 'portal.link_issued') AS links_issued,
    count(*) FILTER (WHERE used) AS links_used,
    count(*) FILTER (WHERE type = 'document.added' AND actor_kind = 'external') AS client_documents,
    count(*) FILTER (WHERE type = 'comment.added' AND actor_kind = 'external') AS client_comments
FROM counted
GROUP BY grp, template_key
ORDER BY grp, template_key
