using System.Net;
using System.Net.Sockets;

namespace FunctionGemma.TestSupport;

/// <summary>Ports for the servers the tests start; every test server binds to 127.0.0.1 only.</summary>
public static class Loopback
{
    /// <summary>A loopback port free at the time of asking.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
