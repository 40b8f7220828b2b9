# Every H100 type with at least 2 GPUs under 10 per hour.
data "datacrunch_instance_types" "h100" {
  gpu_model          = "H100"
  min_gpus           = 2
  max_price_per_hour = 10
}

output "h100_types" {
  value = {
    for t in data.datacrunch_instance_types.h100.instance_types :
    t.instance_type => "${t.gpu_count}x ${t.gpu_model}, ${t.cpu_cores} cores, ${t.memory} GB, ${t.price_per_hour}/h"
  }
}
