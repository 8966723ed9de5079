# shellcheck shell=bash
# Checks of the Windows build of the card module: the export table holds exactly the entry
# points Windows uses, the import table names only DLLs that ship with Windows, and a version resource
# gives the product name and version. Source it; it sets no shell options.
#
#   check_dll DLL OBJDUMP     prints what it found and every violation (all checks run); returns
#                             non-zero when there was at least one

# Exports the CSP, the KSP and regsvr32 look up; DllMain is the entry point (exported by rustc's own .def).
windows_required_exports=(CardAcquireContext DllRegisterServer DllUnregisterServer)
windows_allowed_exports=("${windows_required_exports[@]}" DllMain)

# System DLLs present on every supported Windows (10 and later; 7 has all but the api-ms-win-* sets,
# which Windows 8 introduced and which Windows 7 SP1 gets with the Universal CRT update).
windows_allowed_imports_regex='^(kernel32|ntdll|msvcrt|user32|userenv|ws2_32|winscard|bcrypt|bcryptprimitives|advapi32|api-ms-win-[a-z0-9-]+)\.dll$'

check_dll() {
  local dll=$1 objdump=$2 dump exports imports name violations=0
  [[ -f $dll ]] || { echo "check_dll: $dll does not exist" >&2; return 1; }
  dump=$("$objdump" -p "$dll") || return 1
  exports=$(awk '/\[Ordinal\/Name Pointer\] Table/ {on=1; next} on && NF == 0 {on=0} on {print $NF}' <<<"$dump" | sort)
  imports=$(sed -n 's/^[[:space:]]*DLL Name: //p' <<<"$dump" | tr '[:upper:]' '[:lower:]' | sort -u)
  echo "exports of ${dll##*/}: $(tr '\n' ' ' <<<"$exports")"
  echo "imports of ${dll##*/}: $(tr '\n' ' ' <<<"$imports")"
  for name in "${windows_required_exports[@]}"; do
    grep -qx "$name" <<<"$exports" || { echo "missing export: $name" >&2; violations=1; }
  done
  while read -r name; do
    [[ -z $name ]] && continue
    [[ " ${windows_allowed_exports[*]} " == *" $name "* ]] || { echo "unexpected export: $name" >&2; violations=1; }
    [[ $name == *@* || $name == _* ]] && { echo "decorated export: $name" >&2; violations=1; }
  done <<<"$exports"
  while read -r name; do
    [[ -z $name ]] && continue
    [[ $name =~ $windows_allowed_imports_regex ]] || { echo "import of a DLL Windows does not ship: $name" >&2; violations=1; }
  done <<<"$imports"
  # The version resource: UTF-16 strings in .rsrc.
  # grep without -q reads all its input: `grep -q` could stop early and fail the pipe under pipefail.
  if ! strings -e l "$dll" | grep -x 'Tessera' >/dev/null; then
    echo "no version resource with ProductName Tessera" >&2
    violations=1
  fi
  local version
  version=$(strings -e l "$dll" | grep -A1 -x 'ProductVersion' | tail -n 1)
  echo "version resource of ${dll##*/}: ProductName Tessera, ProductVersion $version"
  return "$violations"
}
