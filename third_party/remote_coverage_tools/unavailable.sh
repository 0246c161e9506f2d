#!/bin/sh
echo "coverage tools are unavailable offline (snapsim builds from Debian packages only)" >&2
exit 1
