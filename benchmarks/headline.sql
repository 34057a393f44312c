-- Headline measures per practice at its reference date, as one DuckDB query: the plain
-- reference the benchmark times our measures against. Inputs: the canonical `patients` and
-- `events` tables of all practices and `profiles` (practice_code, supplier, go_live_date,
-- setting_date, ref_date). Definitions follow the docstrings of optin_analysis.measures.state and
-- optin_analysis.measures.definitions (same-day ties resolve to opt_out / 104 / revoked).
WITH p AS (
    SELECT pt.practice_code, pt.patient_id, pr.ref_date AS d,
        coalesce(pr.supplier = 'tpp' AND pr.setting_date <= pr.ref_date, FALSE) AS tpp_protects,
        pt.registration_date <= pr.ref_date AS registered,
        year(pr.ref_date) - year(pt.date_of_birth)
            - CASE WHEN month(pt.date_of_birth) > month(pr.ref_date)
                OR (month(pt.date_of_birth) = month(pr.ref_date)
                    AND day(pt.date_of_birth) > day(pr.ref_date)) THEN 1 ELSE 0 END AS age,
        -- 16th birthday; 29 February -> 1 March in a common year
        CASE WHEN month(pt.date_of_birth) = 2 AND day(pt.date_of_birth) = 29
                AND NOT ((year(pt.date_of_birth) + 16) % 4 = 0
                    AND ((year(pt.date_of_birth) + 16) % 100 <> 0
                        OR (year(pt.date_of_birth) + 16) % 400 = 0))
            THEN make_date(year(pt.date_of_birth) + 16, 3, 1)
            ELSE CAST(pt.date_of_birth + INTERVAL 16 YEAR AS DATE) END AS b16,
        pt.online_account AND coalesce(pt.online_account_date <= pr.ref_date, TRUE) AS account,
        pt.access_level = 'full_prospective'
            AND coalesce(pt.access_start_date <= pr.ref_date, TRUE) AS by_level,
        CASE WHEN pr.go_live_date IS NOT NULL AND b16 IS NOT NULL THEN greatest(
            pr.go_live_date, coalesce(pt.online_account_date, pr.go_live_date),
            b16) END AS auto_start
    FROM patients pt JOIN profiles pr USING (practice_code)
),
e AS (
    SELECT practice_code, patient_id, event_type AS t,
        2 * (CAST(event_date AS DATE) - DATE '1970-01-01') AS k, event_date <= pr.ref_date AS past
    FROM events JOIN profiles pr USING (practice_code)
),
-- per patient: keys 2 * day + (later kind on the same day)
pe AS (
    SELECT practice_code, patient_id,
        max(k + (t = 'opt_out')::INT) FILTER (past AND t IN ('opt_out', 'opt_in_requested'))
            AS out_key,
        max(k + (t = 'enhanced_review_added')::INT)
            FILTER (past AND t IN ('enhanced_review_added', 'enhanced_review_removed'))
            AS review_key,
        max(k + (t = 'access_revoked')::INT)
            FILTER (past AND t IN ('access_granted', 'access_revoked')) AS access_key,
        min(k + (t = 'access_revoked')::INT)
            FILTER (NOT past AND t IN ('access_granted', 'access_revoked')) AS later_key,
        min(k) FILTER (past AND t = 'opt_in_requested') AS first_request,
        max(k) FILTER (past AND t = 'opt_in_requested') AS last_request
    FROM e GROUP BY ALL
),
closed AS (  -- the latest request answered (granted or declined) on or after it, by D
    SELECT e.practice_code, e.patient_id
    FROM e JOIN pe USING (practice_code, patient_id)
    WHERE e.past AND e.t IN ('access_granted', 'opt_in_declined') AND e.k >= pe.last_request
    GROUP BY ALL
),
s AS (
    SELECT p.*,
        p.registered AND p.age >= 16 AS eligible,
        coalesce(pe.out_key % 2 = 1, FALSE) AS opted_out,
        coalesce(pe.review_key % 2 = 1, FALSE) OR p.tpp_protects AS protected,
        CASE WHEN pe.access_key IS NOT NULL THEN pe.access_key % 2 = 0
            WHEN pe.later_key IS NOT NULL
                THEN pe.later_key % 2 = 1 AND coalesce(p.auto_start <= p.d, FALSE)
            ELSE p.by_level END AS has_access,
        coalesce(pe.access_key % 2 = 0 AND pe.first_request <= pe.access_key, FALSE)
            AS via_opt_in,
        pe.last_request IS NOT NULL AS requested,
        pe.last_request IS NOT NULL AND closed.patient_id IS NULL AS unanswered
    FROM p
    LEFT JOIN pe USING (practice_code, patient_id)
    LEFT JOIN closed USING (practice_code, patient_id)
)
SELECT practice_code,
    count(*) FILTER (eligible) AS eligible,
    count(*) FILTER (eligible AND account) AS account_holders_16plus,
    count(*) FILTER (eligible AND account AND has_access AND NOT via_opt_in)
        AS revocation_backlog,
    count(*) FILTER (eligible AND via_opt_in) AS opt_in_holders,
    count(*) FILTER (registered AND unanswered AND NOT opted_out) AS open_requests,
    count(*) FILTER (registered AND b16 > d AND b16 <= CAST(d + INTERVAL 6 MONTH AS DATE)
        AND NOT protected) AS pending_16_at_risk,
    count(*) FILTER (eligible AND NOT has_access AND NOT opted_out AND NOT requested
        AND protected) AS protection_coverage_numerator,
    count(*) FILTER (eligible AND NOT has_access AND NOT opted_out AND NOT requested)
        AS protection_coverage_denominator,
    count(*) FILTER (eligible AND NOT has_access AND NOT opted_out) AS withheld_pending_opt_in
FROM s GROUP BY practice_code ORDER BY practice_code
