# Every cluster type, with its node count and the price of the whole cluster.
data "datacrunch_cluster_types" "all" {}

output "cluster_prices" {
  value = { for t in data.datacrunch_cluster_types.all.cluster_types : t.cluster_type => t.price_per_hour }
}
