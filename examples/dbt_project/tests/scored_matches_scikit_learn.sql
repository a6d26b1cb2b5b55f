-- Every scored feature equals scikit-learn's value (seeds/expected_scored.csv,
-- written by generate_expected.py from scikit-learn, not by prep) within 1e-9.
{% set features = ['usage', 'amount', 'tickets', 'plan_code_basic', 'plan_code_pro', 'plan_code_obrien', 'region'] %}
select s.customer_id
from {{ ref('scored') }} as s
join {{ ref('expected_scored') }} as e on s.customer_id = e.customer_id
where {% for f in features %}
  ((s.{{ adapter.quote(f) }} is null) != (e.{{ f }} is null)
   or abs(s.{{ adapter.quote(f) }} - e.{{ f }}) > 1e-9 * greatest(1.0, abs(e.{{ f }}))){% if not loop.last %} or{% endif %}
{% endfor %}
union all
-- and no scoring row is lost or added
select customer_id from {{ ref('expected_scored') }} where customer_id not in (select customer_id from {{ ref('scored') }})
