/*
 * A stand-in for Windows 10's bcryptprimitives.dll, only for running Windows binaries under Wine 8 (Debian 12),
 * which has no such DLL. Bun's Windows runtime imports ProcessPrng from it for its random bytes and does not start
 * without it. This forwards to BCryptGenRandom with the system RNG, which Wine 8 implements; no randomness of our own.
 * Built by stub.ts with Debian's gcc-mingw-w64-x86-64-win32 into each throwaway Wine prefix; never shipped.
 */
#include <windows.h>
#include <bcrypt.h>

/* Windows: BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData); always TRUE (it cannot fail there). */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
    while (size > 0) {
        /* BCryptGenRandom takes a ULONG length: feed it in chunks. */
        ULONG chunk = size > 0x40000000 ? 0x40000000 : (ULONG)size;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
            /* Unlike Windows' ProcessPrng this can fail; stop rather than hand out bytes that are not random. */
            RaiseException(0xC0000001 /* STATUS_UNSUCCESSFUL */, EXCEPTION_NONCONTINUABLE, 0, NULL);
        }
        data += chunk;
        size -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance; (void)reason; (void)reserved;
    return TRUE;
}
