-- Learned categories too: the scoring seed's features equal scikit-learn's.
{{ matches_expected(ref('scored_segments'), ref('expected_segments'), 'customer_id') }}
