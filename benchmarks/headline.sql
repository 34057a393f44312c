-- Headline measures per practice at its reference date D, as one DuckDB query.
--
-- What it is for: the plain-SQL reference of the benchmark (benchmarks/run.py, duckdb_step),
-- which times it against `summary.compute` and checks that the figures agree. It is written
-- from the rules' words, not translated from the pandas code, so agreeing figures are an
-- independent check of the package. One row per practice; the columns are the benchmark's
-- REFERENCE_KEYS, each the figure of the same name in `summary.compute(...).measures.headline`
-- (the access figures, protection, the wait tail and record disagreements).
-- tests/oracle/test_headline_sql.py checks that it agrees with the package in every month of
-- the oracle's edge population and of a generated one.
--
-- Inputs (all practices at once):
--   patients  the canonical patients table (optin_analysis.ingest.schema.PATIENT_COLUMNS);
--   events    the canonical events table (EVENT_COLUMNS; event_type from the codelist);
--   profiles  one row per practice: practice_code, supplier ('emis' / 'tpp'), model
--             ('opt_in' / 'default'), go_live_status ('live' / 'due' / 'not_planned'),
--             go_live_date, setting_date (the supplier_setting_date), extract_date and
--             ref_date (D: the period's last day, or the extract date if earlier).
--
-- The rules are the `[rule name]` paragraphs in the docstrings of optin_analysis.measures
-- .timeline, .state and .definitions; every step cites those it follows. Dates are day
-- numbers (days since 1970-01-01). A patient's events are ordered by k = 8 * day + rank, the
-- rank following [rule tie-order]; events of different kinds never share a k.
WITH practice AS (
    SELECT practice_code, supplier,
        CAST(ref_date AS DATE) - DATE '1970-01-01' AS d,
        CAST(extract_date AS DATE) - DATE '1970-01-01' AS extract_day,
        CAST(go_live_date AS DATE) - DATE '1970-01-01' AS go_live_day,
        -- [rule pending-16-window]: the last day of the 6th calendar month after D's month
        CAST(date_trunc('month', ref_date) + INTERVAL 7 MONTH - INTERVAL 1 DAY AS DATE)
            - DATE '1970-01-01' AS horizon_end,
        -- [rule protection-setting]: the supplier setting protects everybody at an opt-in
        -- practice once made: at TPP, and at EMIS for a practice not going live
        coalesce(model = 'opt_in' AND (supplier = 'tpp' OR go_live_status = 'not_planned')
            AND setting_date <= ref_date, FALSE) AS setting_protects
    FROM profiles
),
patient AS (  -- the extract's facts
    SELECT p.practice_code, p.patient_id, pr.* EXCLUDE (practice_code),
        CAST(p.registration_date AS DATE) - DATE '1970-01-01' AS reg_day,
        -- [rule eligible]: the 16th birthday, the 1st of the birth month 16 years on plus the
        -- day of the month less one: so 29 February gives 1 March in a common year
        make_date(year(p.date_of_birth) + 16, month(p.date_of_birth), 1) - DATE '1970-01-01'
            + day(p.date_of_birth) - 1 AS b16,
        coalesce(p.online_account, FALSE) AS online,
        CAST(p.online_account_date AS DATE) - DATE '1970-01-01' AS account_day,
        coalesce(p.access_level = 'full_prospective', FALSE) AS full_access,
        CAST(p.access_start_date AS DATE) - DATE '1970-01-01' AS access_day
    FROM patients p JOIN practice pr USING (practice_code)
),
-- [rule linking]: dated events of a known kind. Events of patients not in the extract drop
-- out where the per-patient results are joined to `patient`.
ev AS (
    SELECT practice_code, patient_id, event_type AS t,
        CAST(event_date AS DATE) - DATE '1970-01-01' AS day,
        -- [rule tie-order]: 106, 104; request, counselled, grant, declined, opt_out, revoke
        8 * day + CASE event_type
            WHEN 'enhanced_review_removed' THEN 0 WHEN 'enhanced_review_added' THEN 1
            WHEN 'opt_in_requested' THEN 2 WHEN 'counselled' THEN 3
            WHEN 'access_granted' THEN 4 WHEN 'opt_in_declined' THEN 5
            WHEN 'opt_out' THEN 6 WHEN 'access_revoked' THEN 7 END AS k
    FROM events
    WHERE event_date IS NOT NULL AND k IS NOT NULL
),
-- [rule episode]: an episode opens with a request when none is open and closes at the next
-- grant, declined or opt_out: one is open just before an event when the latest earlier
-- request comes after the latest earlier closing event. [rule provision]: a grant that
-- closes an episode. Only these four kinds take part.
episode AS (
    SELECT *,
        t = 'access_granted' AND coalesce(max(k) FILTER (t = 'opt_in_requested') OVER before,
            -1) > coalesce(max(k) FILTER (t IN ('access_granted', 'opt_in_declined', 'opt_out'))
                OVER before, -1) AS provision,
        max(k) FILTER (t = 'opt_out') OVER before AS opt_out_before
    FROM ev
    WHERE t IN ('opt_in_requested', 'access_granted', 'opt_in_declined', 'opt_out')
    WINDOW before AS (PARTITION BY practice_code, patient_id ORDER BY k
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
-- Every event with `provision` and `optin_grant`: a grant giving opt-in access, i.e. a
-- provision, or [rule restoration] a grant with no open episode after an earlier provision
-- with no opt_out since (otherwise the grant gives automatic access).
flagged AS (
    SELECT * EXCLUDE (opt_out_before),
        provision OR (t = 'access_granted' AND coalesce(max(k) FILTER (provision) OVER before,
            -1) > coalesce(opt_out_before, -1)) AS optin_grant
    FROM episode
    WINDOW before AS (PARTITION BY practice_code, patient_id ORDER BY k
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    UNION ALL BY NAME
    SELECT *, FALSE AS provision, FALSE AS optin_grant
    FROM ev
    WHERE t NOT IN ('opt_in_requested', 'access_granted', 'opt_in_declined', 'opt_out')
),
-- Per patient with events, what the codes say up to D and up to the extract date. Grants and
-- revocations are keyed 4 * day + 2 when the day has a revocation (it counts as later), else
-- 1 when it has an opt-in grant, else 0 (automatic grants only).
coded AS (
    SELECT f.practice_code, f.patient_id,
        -- the latest coded grant/revoke up to the extract date, as above
        max(4 * day + CASE WHEN t = 'access_revoked' THEN 2 WHEN optin_grant THEN 1 ELSE 0 END)
            FILTER (t IN ('access_granted', 'access_revoked') AND day <= extract_day)
            AS last_coded,
        -- [rule history] at D: the latest day with grants or revocations on or before D; a
        -- revocation that day ends access, grants only give it (opt-in when one is)
        max(4 * day + CASE WHEN t = 'access_revoked' THEN 2 WHEN optin_grant THEN 1 ELSE 0 END)
            FILTER (t IN ('access_granted', 'access_revoked') AND day <= d) AS history_at_d,
        -- [rule events-until-d]: from here on, events dated after D are ignored.
        -- [rule opted-out]: the latest of request and opt_out is an opt_out
        max(k) FILTER (t = 'opt_out' AND day <= d)
            > coalesce(max(k) FILTER (t = 'opt_in_requested' AND day <= d), -1) AS opted_out,
        -- [rule protected-104]: the latest of 106 and 104 is a 104
        max(k) FILTER (t = 'enhanced_review_added' AND day <= d)
            > coalesce(max(k) FILTER (t = 'enhanced_review_removed' AND day <= d), -1)
            AS protected_104,
        -- [rule protection-coverage]: asked to opt in (an opt_in_requested on or before D)
        bool_or(t = 'opt_in_requested' AND day <= d) AS asked,
        max(day) FILTER (t = 'opt_in_requested' AND day <= d) AS last_request_day,
        -- [rule open-request], by the codes: an episode open at the end of D
        max(k) FILTER (t = 'opt_in_requested' AND day <= d)
            > coalesce(max(k) FILTER (t IN ('access_granted', 'opt_in_declined', 'opt_out')
                AND day <= d), -1) AS open_coded_at_d,
        -- the latest coded event closing an episode, up to D
        max(k) FILTER (t IN ('access_granted', 'opt_in_declined', 'opt_out') AND day <= d)
            AS close_k_coded
    FROM flagged f JOIN practice USING (practice_code)
    GROUP BY f.practice_code, f.patient_id
),
current AS (  -- per patient: from when the extract's current access level applies
    SELECT patient.*, coded.* EXCLUDE (practice_code, patient_id),
        -- [rule auto-start]: max(go-live, account date, 16th birthday), a missing account
        -- date skipped; none without a go-live date (or a date of birth)
        CASE WHEN go_live_day IS NOT NULL AND b16 IS NOT NULL
            THEN greatest(go_live_day, account_day, b16) END AS auto_start,
        -- [rule level-start]: a level without full access from the extract date, whatever
        -- its access_start_date. [rule current-start]: full access from its
        -- access_start_date; without one, from the day of the latest coded grant/revoke up
        -- to the extract date when it is a grant, else from auto_start or the extract date,
        -- the earlier (the extract shows the access held then; without auto_start, as at a
        -- practice not yet live, the extract date)
        CASE WHEN NOT full_access THEN extract_day
            WHEN access_day IS NOT NULL THEN access_day
            WHEN last_coded % 4 < 2 THEN last_coded // 4
            ELSE least(coalesce(auto_start, extract_day), extract_day) END
            AS current_start
    FROM patient LEFT JOIN coded USING (practice_code, patient_id)
),
-- Per patient, what the codes say up to the current start: needed for full access (its kind)
-- and before the start ([rule history]).
at_start AS (
    SELECT c.practice_code, c.patient_id,
        -- [rule extract-kind]: an episode open on the start day ...
        max(f.k) FILTER (f.t = 'opt_in_requested' AND f.day <= c.current_start)
            > coalesce(max(f.k) FILTER (f.t IN ('access_granted', 'opt_in_declined', 'opt_out')
                AND f.day <= c.current_start), -1) AS open_at_start,
        -- ... or a provision on or before that day with no opt_out after it (up to that day)
        max(f.k) FILTER (f.provision AND f.day <= c.current_start)
            > coalesce(max(f.k) FILTER (f.t = 'opt_out' AND f.day <= c.current_start), -1)
            AS opted_in_at_start,
        -- ... or the latest coded grant/revoke on or before that day is an opt-in grant
        -- (keyed as `last_coded`)
        max(4 * f.day + CASE WHEN f.t = 'access_revoked' THEN 2 WHEN f.optin_grant THEN 1
            ELSE 0 END) FILTER (f.t IN ('access_granted', 'access_revoked')
                AND f.day <= c.current_start) AS coded_at_start,
        -- [rule extract-kind]: automatic access becomes opt-in on the day of the first opt-in
        -- grant after the start, up to the extract date
        min(f.day) FILTER (f.optin_grant AND f.day > c.current_start AND f.day <= c.extract_day)
            AS becomes_optin,
        -- [rule history]: the first day with grants or revocations up to the start, keyed
        -- 2 * day + 1 when that day has revocations only
        min(2 * f.day + (f.t = 'access_revoked')::INT)
            FILTER (f.t IN ('access_granted', 'access_revoked') AND f.day <= c.current_start)
            AS first_coded
    FROM current c JOIN flagged f USING (practice_code, patient_id)
    WHERE (c.full_access OR c.d < c.current_start)
        AND f.t IN ('opt_in_requested', 'access_granted', 'opt_in_declined', 'opt_out',
            'access_revoked')
    GROUP BY c.practice_code, c.patient_id
),
state AS (  -- per patient: the state at D ([rule registered-only] is applied in the counts)
    SELECT practice_code, patient_id, supplier, d, horizon_end, b16,
        -- [rule registered]
        coalesce(reg_day <= d, FALSE) AS registered,
        -- [rule eligible]: registered and aged 16 or over on D
        coalesce(reg_day <= d AND b16 <= d, FALSE) AS eligible,
        -- [rule account]
        online AND coalesce(account_day <= d, TRUE) AS account,
        coalesce(opted_out, FALSE) AS opted_out,
        coalesce(asked, FALSE) AS asked,
        -- [rule protection-setting]
        coalesce(protected_104, FALSE) OR setting_protects AS protected,
        -- [rule extract-kind]: the extract's full access is opt-in from its start day when
        -- the latest coded grant/revoke on or before that day is an opt-in grant, an episode
        -- is open that day, or a provision on or before it has no opt_out after it
        full_access AND (coalesce(coded_at_start % 4 = 1, FALSE) OR coalesce(open_at_start,
            FALSE) OR coalesce(opted_in_at_start, FALSE)) AS extract_optin,
        -- [rule access]: on and after the current start the extract decides ([rule
        -- extract-wins]); before it [rule history]: the latest day with codes on or before D,
        -- else automatic access from auto_start when the first such day up to the start has
        -- revocations only.
        -- NOTE: that first day may come after D, so a revocation dated after D tells that
        -- access was held on D; [rule events-until-d] excepts only the extract, not this.
        -- This follows [rule history] (and the package).
        CASE WHEN d >= current_start THEN full_access
            WHEN history_at_d IS NOT NULL THEN history_at_d % 4 < 2
            ELSE coalesce(first_coded % 2 = 1 AND auto_start <= d, FALSE) END AS has_access,
        -- [rule extract-kind]: opt-in only from the first opt-in grant known by D
        CASE WHEN d >= current_start THEN extract_optin OR coalesce(becomes_optin <= d, FALSE)
            ELSE coalesce(history_at_d % 4 = 1, FALSE) END AS via_opt_in,
        -- [rule open-request]: an episode open at the end of D, unless [rule provision] the
        -- extract's access start date, on or before D, is an implied provision closing it
        -- (full access given with a start date, opt-in through an episode open that day).
        -- A request after that day opens a new episode ([rule episode]): still open at D
        -- unless closed since (which the codes tell).
        coalesce(open_coded_at_d, FALSE) AND NOT coalesce(full_access AND access_day IS NOT NULL
            AND open_at_start AND access_day <= d AND last_request_day <= access_day, FALSE)
            AS open_request,
        -- the latest event closing an episode up to D, the implied provision included (it
        -- ranks as a grant on its day): the open episode began with the first request after
        greatest(coalesce(close_k_coded, -1), CASE WHEN full_access AND access_day IS NOT NULL
            AND open_at_start AND access_day <= d THEN 8 * access_day + 4 ELSE -1 END)
            AS close_k,
        -- [rule disagreement] at the extract date, of patients registered then: the latest
        -- coded grant/revoke up to it is a grant and the extract shows no full access; or a
        -- revocation and the extract shows full access, unless given after the revocation
        -- (a later access start date) through opt-in
        coalesce(reg_day <= extract_day, FALSE) AND coalesce(
            (last_coded % 4 < 2 AND NOT full_access) OR (last_coded % 4 = 2 AND full_access
                AND NOT (coalesce(access_day > last_coded // 4, FALSE) AND extract_optin)),
            FALSE) AS disagrees
    FROM current LEFT JOIN at_start USING (practice_code, patient_id)
),
-- [rule stage], [rule wait-tail]: days waited at D by each open request, from the first
-- request of its episode (the first request after the latest closing event)
waits AS (
    SELECT s.practice_code, s.patient_id, s.d - min(f.day) AS wait_days
    FROM state s JOIN flagged f USING (practice_code, patient_id)
    WHERE s.registered AND s.open_request AND f.t = 'opt_in_requested' AND f.day <= s.d
        AND f.k > s.close_k
    GROUP BY s.practice_code, s.patient_id, s.d
),
tail AS (
    SELECT practice_code,
        count(*) FILTER (wait_days > 28) AS open_requests_over_28_days,
        count(*) FILTER (wait_days > 90) AS open_requests_over_90_days,
        count(*) FILTER (wait_days > 180) AS open_requests_over_180_days
    FROM waits
    GROUP BY practice_code
),
counts AS (
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
    count(*) FILTER (eligible AND NOT has_access AND NOT opted_out) AS withheld_pending_opt_in,
    -- [rule disagreement], counted as of the extract date whatever D
    count(*) FILTER (disagrees) AS record_disagreements
FROM state
GROUP BY practice_code
)
SELECT counts.*,
    coalesce(open_requests_over_28_days, 0) AS open_requests_over_28_days,
    coalesce(open_requests_over_90_days, 0) AS open_requests_over_90_days,
    coalesce(open_requests_over_180_days, 0) AS open_requests_over_180_days
FROM counts LEFT JOIN tail USING (practice_code)
ORDER BY practice_code
