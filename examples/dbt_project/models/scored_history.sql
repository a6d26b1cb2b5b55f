-- Incremental scoring: each run adds the features of the scoring rows not
-- scored before. A row keeps the features it was first scored with, and its
-- prep_fit_id says which statistics those were, whatever was refitted since.
{{ config(materialized='incremental', unique_key='customer_id') }}

select * from ({{ prep.apply_churn(ref('scoring')) }}) as scored
{% if is_incremental() %}
where customer_id not in (select customer_id from {{ this }})
{% endif %}
