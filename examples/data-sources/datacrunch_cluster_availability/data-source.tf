# The cluster types with room for every node in FIN-03 right now.
data "datacrunch_cluster_availability" "fin3" {
  location_code = "FIN-03"
}

output "clusters_available_in_fin3" {
  value = [for a in data.datacrunch_cluster_availability.fin3.availability : a.cluster_type]
}
