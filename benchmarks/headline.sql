-- Headline measures per practice at its reference date D, as one DuckDB query.
--
-- What it is for: an independent, plain-SQL reference for the benchmark (benchmarks/run.py,
-- duckdb_step). It is written from the rules' words, not translated from the pandas code, so
-- that agreeing figures check the package and the timings compare like with like. Its columns
-- are the benchmark's REFERENCE_KEYS; each is one row of `summary.compute(...).measures.headline`.
--
-- Inputs (all practices at once):
--   patients  the canonical patients table (optin_analysis.ingest.schema.PATIENT_COLUMNS);
--   events    the canonical events table (EVENT_COLUMNS; event_type from the codelist);
--   profiles  one row per practice: practice_code, supplier ('emis' / 'tpp'), model
--             ('opt_in' / 'default'), go_live_status ('live' / 'due' / 'not_planned'),
--             go_live_date, setting_date (supplier_setting_date), extract_date, ref_date (D).
--
-- The rules are the `[rule name]` paragraphs of the docstrings of optin_analysis.measures.timeline,
-- .state and .definitions; each step below cites the rules it follows. Dates become day numbers
-- (days since 1970-01-01). Within a patient, events are ordered by the key k = 8 * day + rank,
-- rank following [rule tie-order]; two events of different kinds never share a key.
WITH pr AS (  -- per practice
    SELECT practice_code, supplier,
        CAST(ref_date AS DATE) - DATE '1970-01-01' AS d,
        CAST(extract_date AS DATE) - DATE '1970-01-01' AS extract_day,
        CAST(go_live_date AS DATE) - DATE '1970-01-01' AS go_live_day,
        -- [rule pending-16-window]: the last day of the 6th calendar month after D's month
        CAST(date_trunc('month', ref_date) + INTERVAL 7 MONTH - INTERVAL 1 DAY AS DATE)
            - DATE '1970-01-01' AS horizon_end,
        -- [rule protection-setting]: the supplier setting protects everybody at an opt-in
        -- practice once made: TPP always, EMIS only for a practice not going live
        coalesce(model = 'opt_in' AND (supplier = 'tpp' OR go_live_status = 'not_planned')
            AND setting_date <= ref_date, FALSE) AS setting_protects
    FROM profiles
),
pt AS (  -- per patient: the extract's facts
    SELECT p.practice_code, p.patient_id, pr.* EXCLUDE (practice_code),
        CAST(p.registration_date AS DATE) - DATE '1970-01-01' AS reg_day,
        -- [rule eligible]: the 16th birthday; 29 February -> 1 March in a common year
        -- (the first of the month plus the day of the month less one)
        make_date(year(p.date_of_birth) + 16, month(p.date_of_birth), 1) - DATE '1970-01-01'
            + day(p.date_of_birth) - 1 AS b16,
        coalesce(p.online_account, FALSE) AS online,
        CAST(p.online_account_date AS DATE) - DATE '1970-01-01' AS account_day,
        coalesce(p.access_level = 'full_prospective', FALSE) AS full_access,
        CAST(p.access_start_date AS DATE) - DATE '1970-01-01' AS access_day
    FROM patients p JOIN pr USING (practice_code)
),
ev AS (  -- [rule linking]: events of patients in the extract, of a known kind, dated
    SELECT e.practice_code, e.patient_id, e.event_type AS t,
        CAST(e.event_date AS DATE) - DATE '1970-01-01' AS day,
        -- [rule tie-order]: 106, 104; request, counselled, grant, declined, opt_out, revoke
        8 * day + CASE e.event_type
            WHEN 'enhanced_review_removed' THEN 0 WHEN 'enhanced_review_added' THEN 1
            WHEN 'opt_in_requested' THEN 2 WHEN 'counselled' THEN 3
            WHEN 'access_granted' THEN 4 WHEN 'opt_in_declined' THEN 5
            WHEN 'opt_out' THEN 6 WHEN 'access_revoked' THEN 7 END AS k
    FROM events e SEMI JOIN patients p USING (practice_code, patient_id)
    WHERE e.event_date IS NOT NULL AND e.event_type IN ('enhanced_review_removed',
        'enhanced_review_added', 'opt_in_requested', 'counselled', 'access_granted',
        'opt_in_declined', 'opt_out', 'access_revoked')
),
-- [rule episode]: an episode opens with a request when none is open and closes at the next
-- grant, declined or opt_out. So an episode is open just before an event when the latest
-- earlier request comes after the latest earlier closing event.
ep AS (
    SELECT *,
        t = 'access_granted' AND coalesce(max(k) FILTER (t = 'opt_in_requested') OVER before,
            -1) > coalesce(max(k) FILTER (t IN ('access_granted', 'opt_in_declined', 'opt_out'))
                OVER before, -1) AS provision,  -- [rule provision]: a grant closing an episode
        max(k) FILTER (t = 'opt_out') OVER before AS opt_out_before
    FROM ev
    WINDOW before AS (PARTITION BY practice_code, patient_id ORDER BY k
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
-- [rule restoration]: a grant with no open episode gives opt-in access when an earlier
-- provision has no opt_out after it, automatic access otherwise
gr AS (
    SELECT *,
        provision OR (t = 'access_granted' AND coalesce(max(k) FILTER (provision) OVER before,
            -1) > coalesce(opt_out_before, -1)) AS optin_grant
    FROM ep
    WINDOW before AS (PARTITION BY practice_code, patient_id ORDER BY k
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
pa AS (  -- per patient, what needs no current start
    SELECT gr.practice_code, gr.patient_id,
        -- the latest coded grant/revoke up to the extract date, 4 * day + 2 (a revocation
        -- on that day, which counts as later) / 1 (an opt-in grant) / 0 (an automatic grant)
        max(4 * day + CASE WHEN t = 'access_revoked' THEN 2 WHEN optin_grant THEN 1 ELSE 0 END)
            FILTER (t IN ('access_granted', 'access_revoked') AND day <= extract_day)
            AS last_coded,
        -- [rule history] at D: the latest day with grants or revocations on or before D, keyed
        -- as above: a revocation that day ends access, grants only give it (opt-in if one is)
        max(4 * day + CASE WHEN t = 'access_revoked' THEN 2 WHEN optin_grant THEN 1 ELSE 0 END)
            FILTER (t IN ('access_granted', 'access_revoked') AND day <= d) AS history_at_d,
        -- [rule events-until-d]: events dated after D are ignored
        -- [rule opted-out]: latest of request / opt_out (the opt_out later on one day)
        max(k) FILTER (t = 'opt_out' AND day <= d)
            > coalesce(max(k) FILTER (t = 'opt_in_requested' AND day <= d), -1) AS opted_out,
        -- [rule protected-104]: latest of 106 / 104 (the 104 later on one day)
        max(k) FILTER (t = 'enhanced_review_added' AND day <= d)
            > coalesce(max(k) FILTER (t = 'enhanced_review_removed' AND day <= d), -1)
            AS protected_104,
        -- [rule protection-coverage]: an opt_in_requested on or before D
        bool_or(t = 'opt_in_requested' AND day <= d) AS asked,
        -- [rule open-request] from the codes: an episode open at the end of D
        max(k) FILTER (t = 'opt_in_requested' AND day <= d)
            > coalesce(max(k) FILTER (t IN ('access_granted', 'opt_in_declined', 'opt_out')
                AND day <= d), -1) AS open_coded_at_d,
        max(day) FILTER (t IN ('access_granted', 'opt_in_declined', 'opt_out') AND day <= d)
            AS last_close_at_d
    FROM gr JOIN pr USING (practice_code)
    GROUP BY gr.practice_code, gr.patient_id
),
cs AS (  -- per patient: when the extract's current access level applies
    SELECT pt.*, pa.* EXCLUDE (practice_code, patient_id),
        -- [rule auto-start]: max(go-live, account date, 16th birthday); a missing account date
        -- is skipped; none without a go-live date (or date of birth)
        CASE WHEN go_live_day IS NOT NULL AND b16 IS NOT NULL
            THEN greatest(go_live_day, account_day, b16) END AS auto_start,
        -- [rule current-start]: from access_start_date; without one, full access from the day
        -- of the latest coded grant/revoke up to the extract date when it is a grant, else from
        -- auto_start, else always (-2^40, before any date); any other level from the extract
        CASE WHEN access_day IS NOT NULL THEN access_day
            WHEN NOT full_access THEN extract_day
            WHEN last_coded % 4 < 2 THEN last_coded // 4
            ELSE coalesce(auto_start, -(2::BIGINT << 40)) END AS current_start
    FROM pt LEFT JOIN pa USING (practice_code, patient_id)
),
pb AS (  -- per patient (with events), what is read at the current start
    SELECT cs.practice_code, cs.patient_id,
        -- [rule extract-kind]: an episode open on the start day ...
        max(gr.k) FILTER (gr.t = 'opt_in_requested' AND gr.day <= current_start)
            > coalesce(max(gr.k) FILTER (gr.t IN ('access_granted', 'opt_in_declined', 'opt_out')
                AND gr.day <= current_start), -1) AS open_at_start,
        -- ... or a provision on or before that day with no opt_out after it
        max(gr.k) FILTER (gr.provision AND gr.day <= current_start)
            > coalesce(max(gr.k) FILTER (gr.t = 'opt_out' AND gr.day <= current_start), -1)
            AS opted_in_at_start,
        -- [rule history]: the first day with grants or revocations (up to the start), 2 * day
        -- + 1 when that day has revocations only
        min(2 * gr.day + (gr.t = 'access_revoked')::INT)
            FILTER (gr.t IN ('access_granted', 'access_revoked') AND gr.day <= current_start)
            AS first_coded
    FROM cs JOIN gr USING (practice_code, patient_id)
    GROUP BY cs.practice_code, cs.patient_id
),
kind AS (  -- per patient: the kind of the extract's full access
    SELECT cs.*, pb.* EXCLUDE (practice_code, patient_id),
        -- [rule extract-kind]: opt-in when the latest coded grant/revoke up to the extract date
        -- is an opt-in grant, an episode is open on its start day, or a provision on or
        -- before that day has no opt_out after it
        full_access AND (coalesce(last_coded % 4 = 1, FALSE) OR coalesce(open_at_start, FALSE)
            OR coalesce(opted_in_at_start, FALSE)) AS extract_optin
    FROM cs LEFT JOIN pb USING (practice_code, patient_id)
),
state AS (  -- per patient: the state at D ([rule registered-only] applied in the counts)
    SELECT practice_code, patient_id, supplier, setting_protects, d, horizon_end, b16,
        -- [rule registered]
        coalesce(reg_day <= d, FALSE) AS registered,
        -- [rule eligible]: aged 16 or over on D (the 16th birthday on or before D)
        coalesce(reg_day <= d AND b16 <= d, FALSE) AS eligible,
        -- [rule account]
        online AND coalesce(account_day <= d, TRUE) AS account,
        coalesce(opted_out, FALSE) AS opted_out,
        coalesce(asked, FALSE) AS asked,
        -- [rule protection-setting]
        coalesce(protected_104, FALSE) OR setting_protects AS protected,
        -- [rule access]: [rule extract-wins] on and after the current start, else [rule
        -- history]: the latest day with codes on or before D; with none, automatic access from
        -- auto_start when the first such day (up to the start) has revocations only
        CASE WHEN d >= current_start THEN full_access
            WHEN history_at_d IS NOT NULL THEN history_at_d % 4 < 2
            ELSE coalesce(first_coded % 2 = 1 AND auto_start <= d, FALSE) END AS has_access,
        CASE WHEN d >= current_start THEN extract_optin
            WHEN history_at_d IS NOT NULL THEN history_at_d % 4 = 1
            ELSE FALSE END AS via_opt_in,
        -- [rule open-request]: an episode open at the end of D, unless [rule provision] the
        -- extract's access start date on or before D is an implied provision closing it
        -- (full access given with a start date, opt-in through an episode open that day)
        -- and no code has closed that episode since
        coalesce(open_coded_at_d, FALSE) AND NOT coalesce(full_access AND access_day IS NOT NULL
            AND extract_optin AND open_at_start AND access_day <= d
            AND coalesce(last_close_at_d <= access_day, TRUE), FALSE) AS open_request
    FROM kind
)
SELECT practice_code,
    count(*) FILTER (eligible) AS eligible,
    count(*) FILTER (eligible AND account) AS account_holders_16plus,
    -- [rule backlog-emis]: account holders holding automatic access; [rule backlog-tpp]:
    -- anyone holding automatic access
    count(*) FILTER (eligible AND has_access AND NOT via_opt_in
        AND (supplier = 'tpp' OR account)) AS revocation_backlog,
    -- [rule uptake-share]
    count(*) FILTER (eligible AND via_opt_in) AS opt_in_holders,
    count(*) FILTER (registered AND open_request) AS open_requests,
    -- [rule pending-16-window], [rule pending-16-protected]
    count(*) FILTER (registered AND b16 > d AND b16 <= horizon_end AND NOT protected)
        AS pending_16_at_risk,
    -- [rule protection-coverage]
    count(*) FILTER (eligible AND NOT has_access AND NOT opted_out AND NOT asked
        AND protected) AS protection_coverage_numerator,
    count(*) FILTER (eligible AND NOT has_access AND NOT opted_out AND NOT asked)
        AS protection_coverage_denominator,
    -- [rule withheld]
    count(*) FILTER (eligible AND NOT has_access AND NOT opted_out) AS withheld_pending_opt_in
FROM state
GROUP BY practice_code
ORDER BY practice_code
