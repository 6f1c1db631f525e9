#!/usr/bin/env bash
# Stands in for a checkout page and the order feed: asks for an offer for each customer, and
# sends an order back for some of them (more often when they got a coupon), as a shop would.
set -euo pipefail
API=${API:-http://127.0.0.1:8080}
RANDOM=7 # seeded: the same run gives the same orders
# The item the baskets hold, with its cost, so that the join knows each order's profit.
curl -sf -X POST "$API/v1/events" -H "Authorization: Bearer $INGEST" -d '{"events": [{"type": "item",
  "id": "sku-1", "category": "shoes", "list_price": 4000, "unit_cost": 2000}]}' >/dev/null
n=0
for customer in $(jq -r 'select(.type == "user") | .id' sim/events.jsonl | head -n "${1:-400}"); do
  n=$((n + 1))
  decision=$(curl -sf -X POST "$API/v1/decisions" -H "Authorization: Bearer $DECIDE" \
    -d "{\"customer_id\": \"$customer\", \"context\": {\"placement\": \"checkout\", \"basket\": [{\"item_id\": \"sku-1\", \"quantity\": 1, \"unit_price\": 4000, \"unit_cost\": 2000}]}}")
  offer=$(jq -r .offer_id <<<"$decision")
  # A coupon moves some customers: 35% buy with one, 12% without.
  chance=12; discount=0
  case "$offer" in pct10) chance=35; discount=400 ;; amt500) chance=35; discount=500 ;; esac
  if (( RANDOM % 100 < chance )); then
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    curl -sf -X POST "$API/v1/events" -H "Authorization: Bearer $INGEST" -d "{\"events\": [{\"type\": \"order\",
      \"id\": \"web-$customer-$n\", \"user_id\": \"$customer\", \"time\": \"$now\", \"order_id\": \"o-$customer-$n\",
      \"lines\": [{\"item_id\": \"sku-1\", \"quantity\": 1, \"list_price\": 4000, \"paid\": $((4000 - discount)),
      \"coupon_discount\": $discount}]}]}" >/dev/null
  fi
done
echo "asked for $n offers"
