using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace SampleWebApp.Pages;

/// <summary>
/// The page for an unknown path (404, through the status-code pages) and, outside Development, for an unhandled
/// exception (500, through the exception handler): no exception details, only a request id for the logs. Asked for
/// directly, <c>/Error</c> is itself a page that does not exist (404), never a 200.
/// </summary>
[ResponseCache(Duration = 0, Location = ResponseCacheLocation.None, NoStore = true)]
[IgnoreAntiforgeryToken]
public sealed class ErrorModel : PageModel
{
    /// <summary>Id to look the request up in the container log.</summary>
    public string RequestId { get; private set; } = "";

    /// <summary>The status code the response carries.</summary>
    public int Status { get; private set; }

    /// <summary>The path that was asked for, for a 404.</summary>
    public string? OriginalPath { get; private set; }

    public void OnGet() => Handle();

    // The exception handler and the status-code pages re-execute the request with its own method: answer them all.
    public void OnPost() => Handle();

    public void OnPut() => Handle();

    public void OnDelete() => Handle();

    private void Handle()
    {
        RequestId = Activity.Current?.Id ?? HttpContext.TraceIdentifier;
        var reExecuted = HttpContext.Features.Get<IStatusCodeReExecuteFeature>();
        if (HttpContext.Features.Get<IExceptionHandlerPathFeature>() is not null)
        {
            Status = StatusCodes.Status500InternalServerError;
        }
        else if (reExecuted is not null)
        {
            Status = reExecuted.OriginalStatusCode;
            OriginalPath = reExecuted.OriginalPath;
        }
        else
        {
            Status = StatusCodes.Status404NotFound;
            OriginalPath = HttpContext.Request.Path;
        }

        Response.StatusCode = Status;
    }
}
