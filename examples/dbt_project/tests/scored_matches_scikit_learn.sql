-- The scoring seed's features equal scikit-learn's (seeds/expected_scored.csv).
{{ matches_expected(ref('scored'), ref('expected_scored'), 'customer_id') }}
