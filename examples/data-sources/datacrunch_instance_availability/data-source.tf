# Where a single H100 can be deployed right now, on demand or as spot.
data "datacrunch_instance_availability" "h100" {
  instance_type = "1H100.80S.30V"
}

output "h100_on_demand_locations" {
  value = [for a in data.datacrunch_instance_availability.h100.availability : a.location_code if a.on_demand]
}
