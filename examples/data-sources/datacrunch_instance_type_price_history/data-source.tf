# How the H100's fixed and dynamic prices moved over the last 6 months, in EUR.
data "datacrunch_instance_type_price_history" "h100" {
  instance_type = "1H100.80S.30V"
  num_of_months = 6
  currency      = "eur"
}

output "h100_prices" {
  value = {
    for p in data.datacrunch_instance_type_price_history.h100.price_history :
    substr(p.date, 0, 7) => "fixed ${p.fixed_price_per_hour}, dynamic ${p.dynamic_price_per_hour} ${p.currency}/h"
  }
}
