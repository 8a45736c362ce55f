"""What every domain shares: errors, enums, field rules, records, paging, global ids."""
