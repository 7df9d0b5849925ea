#!/usr/bin/env bash
# TorchSharp 0.107's libLibTorchSharp.so (built with GCC 13) needs GLIBCXX_3.4.32 for one symbol,
# std::ios_base_library_init(), which Debian 12's libstdc++ (GCC 12) lacks. GCC 12's libstdc++ initializes
# iostreams itself, so a no-op definition is enough: build it as a small library, make the symbol reference
# unversioned, mark the version need weak, and link the shim next to libLibTorchSharp.so in the NuGet cache.
# Idempotent; needs gcc, patchelf (apt-get install patchelf) and python3. Run once per machine before the tests.
set -euo pipefail
strings /usr/lib/x86_64-linux-gnu/libstdc++.so.6 | grep GLIBCXX_3.4.32 >/dev/null && { echo "libstdc++ has GLIBCXX_3.4.32: nothing to do"; exit 0; }
pkgs=${NUGET_PACKAGES:-$HOME/.nuget/packages}
for lib in "$pkgs"/torchsharp/*/runtimes/linux-x64/native/libLibTorchSharp.so; do
  dir=$(dirname "$lib")
  if ! objdump -T "$lib" | grep "GLIBCXX_3.4.32" >/dev/null; then echo "already patched: $lib"; continue; fi
  printf 'void _ZSt21ios_base_library_initv(void) {}\n' > /tmp/fg-ios-shim.c
  gcc -shared -fPIC -O2 -o "$dir/libfg_ios_shim.so" /tmp/fg-ios-shim.c
  patchelf --clear-symbol-version _ZSt21ios_base_library_initv "$lib"
  patchelf --add-needed libfg_ios_shim.so "$lib"
  # A weak version need: the loader no longer insists that libstdc++ defines GLIBCXX_3.4.32.
  python3 - "$lib" <<'PY'
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
shoff, = struct.unpack_from('<Q', b, 0x28); shentsize, shnum, shstrndx = struct.unpack_from('<HHH', b, 0x3A)
secs = [struct.unpack_from('<IIQQQQIIQQ', b, shoff + i * shentsize) for i in range(shnum)]
for s in secs:
    if s[1] != 0x6ffffffe: continue  # SHT_GNU_verneed
    strtab = secs[s[6]]; off = s[4]
    while True:
        vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from('<HHIII', b, off)
        a = off + vn_aux
        for _ in range(vn_cnt):
            h, flags, other, name, nxt = struct.unpack_from('<IHHII', b, a)
            n = bytes(b[strtab[4] + name: b.index(0, strtab[4] + name)]).decode()
            if n == 'GLIBCXX_3.4.32': struct.pack_into('<H', b, a + 4, flags | 2); print('weakened', n)
            a += nxt
        if not vn_next: break
        off += vn_next
open(p, 'wb').write(b)
PY
  echo "patched: $lib"
done
