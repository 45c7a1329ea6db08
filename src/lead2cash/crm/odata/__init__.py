"""OData v4 protocol pieces of the CRM server: query options, $filter, $batch, serialization, errors."""
