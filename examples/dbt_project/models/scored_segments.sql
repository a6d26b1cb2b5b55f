-- Scoring rows encoded with the categories learned from the training seed.
{{ config(materialized='table') }}

{{ prep.apply_segments(ref('scoring')) }}
