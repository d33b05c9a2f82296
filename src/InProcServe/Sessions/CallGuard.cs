using System.Runtime.InteropServices;

namespace InProcServe;

/// <summary>
/// Owns an ONNX Runtime object (a session, a value) that other threads may still be using when Dispose is
/// called. SafeHandle's reference count is what makes that safe: every call on the object runs between
/// <see cref="TryAddRef"/> and <see cref="SafeHandle.DangerousRelease"/>, so Dispose only marks the guard and
/// the object is disposed when the last call in flight returns.
/// </summary>
/// <remarks>
/// The official managed API releases its native object at once on Dispose, under any run in flight; this is
/// the ownership the hand-written binding had, kept on top of it. The handle value is a dummy: the guard owns
/// a managed object, not a pointer.
/// </remarks>
internal sealed class CallGuard : SafeHandle
{
    private readonly IDisposable owned;
    private readonly Action? afterRelease;
    private volatile bool disposeRequested;

    /// <param name="owned">Disposed once the guard is disposed and no call holds it.</param>
    /// <param name="afterRelease">Runs after <paramref name="owned"/> is disposed (gives back what it was created with).</param>
    internal CallGuard(IDisposable owned, Action? afterRelease = null)
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
        this.owned = owned;
        this.afterRelease = afterRelease;
        SetHandle(1);
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>Whether Dispose was called, even if calls in flight still keep the object alive.</summary>
    internal bool IsDisposeRequested => disposeRequested;

    /// <summary>
    /// Takes a reference for one call, or returns false once Dispose was called. SafeHandle alone would still
    /// hand out references while earlier calls keep it open; new calls must be refused at once.
    /// </summary>
    internal bool TryAddRef()
    {
        if (disposeRequested)
        {
            return false;
        }

        var added = false;
        try
        {
            DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
        }

        return added;
    }

    protected override void Dispose(bool disposing)
    {
        disposeRequested = true;
        base.Dispose(disposing);
    }

    protected override bool ReleaseHandle()
    {
        owned.Dispose();
        afterRelease?.Invoke();
        return true;
    }
}
