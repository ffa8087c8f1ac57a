-- Portal links issued and used, documents and comments from clients, per group and template (REPORTS["portal"]).
WITH events AS (
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
acted AS (
    -- A link issued in the range was used if its participant acted after it was issued, which is then in the range.
    SELECT actor_id AS participant, max(occurred_at) AS last_acted
    FROM events
    WHERE actor_kind = 'external'
    GROUP BY actor_id
),
counted AS (
    SELECT
        $group_value AS grp,
        template_key,
        type,
        actor_kind,
        type = 'portal.link_issued' AND last_acted > occurred_at AS used
    FROM events
    LEFT JOIN acted ON participant = participant_id
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
