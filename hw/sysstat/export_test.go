package sysstat

var (
	DiskRatio    = diskRatio
	ParseLoad    = parseLoad
	ParseMeminfo = parseMeminfo
)
