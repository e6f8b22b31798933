package sysstat

var DiskRatio = diskRatio
