-- Scoring rows encoded with the categories of one pinned fit (specs/segments.fitted.yml).
{{ config(materialized='table') }}

{{ pinned_features.apply_segments(ref('scoring')) }}
