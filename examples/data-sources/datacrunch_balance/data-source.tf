data "datacrunch_balance" "now" {}

# Refuse to plan anything when less than 50 is left.
check "enough_balance" {
  assert {
    condition     = data.datacrunch_balance.now.amount >= 50
    error_message = "Only ${data.datacrunch_balance.now.amount} ${data.datacrunch_balance.now.currency} left."
  }
}

output "balance" {
  value = "${data.datacrunch_balance.now.amount} ${data.datacrunch_balance.now.currency}"
}
