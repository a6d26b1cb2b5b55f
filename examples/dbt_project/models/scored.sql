-- Scoring rows turned into features with the training statistics of churn__params.
{{ config(materialized='table') }}

{{ prep.apply_churn(ref('scoring')) }}
