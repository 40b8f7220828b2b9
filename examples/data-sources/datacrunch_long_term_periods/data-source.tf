# The commitment lengths offered for instances and the discount each gives.
data "datacrunch_long_term_periods" "instances" {
  offered_for = "instances"
}

output "long_term_discounts" {
  value = {
    for p in data.datacrunch_long_term_periods.instances.periods :
    p.name => "${p.discount_percentage}% off" if p.is_enabled
  }
}
