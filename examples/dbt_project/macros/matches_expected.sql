{# Rows of `model` whose features differ from `expected` (written by
   scikit-learn, see generate_expected.py) by more than `tolerance` (1e-9
   unless a test says otherwise), or that are
   missing on either side. The columns compared are the expected ones. #}
{% macro matches_expected(model, expected, key, tolerance=1e-9) %}
{%- set columns = adapter.get_columns_in_relation(expected) | map(attribute='name') | reject('equalto', key) | list -%}
select s.{{ key }}
from {{ model }} as s
join {{ expected }} as e on s.{{ key }} = e.{{ key }}
where {% for c in columns %}
  ((s.{{ adapter.quote(c) }} is null) != (e.{{ adapter.quote(c) }} is null)
   or abs(s.{{ adapter.quote(c) }} - e.{{ adapter.quote(c) }}) > {{ tolerance }} * greatest(1.0, abs(e.{{ adapter.quote(c) }}))){% if not loop.last %} or{% endif %}
{% endfor %}
union all
select {{ key }} from {{ expected }} where {{ key }} not in (select {{ key }} from {{ model }})
union all
select {{ key }} from {{ model }} where {{ key }} not in (select {{ key }} from {{ expected }})
{% endmacro %}
