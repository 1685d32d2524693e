module cprof/oracle

go 1.19
