module github.com/counterdesk/counterdesk/tools

go 1.26.0
