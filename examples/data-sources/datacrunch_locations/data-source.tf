data "datacrunch_locations" "all" {}

output "locations" {
  value = { for l in data.datacrunch_locations.all.locations : l.code => "${l.name} (${l.country})" }
}
