module github.com/counterdesk/counterdesk/services/routing

go 1.26.0
