using System.Management.Automation;
using FalVideo.Engine;

namespace FalVideo.Tests.Module;

/// <summary>Core's error categories are PowerShell's, by name and number, so the module maps one onto the other.</summary>
public sealed class ErrorIdTests
{
    [Fact]
    public void Every_core_category_is_the_powershell_category_of_the_same_name_and_number()
    {
        foreach (FalErrorCategory category in Enum.GetValues(typeof(FalErrorCategory)))
        {
            Assert.True(Enum.TryParse<ErrorCategory>(category.ToString(), out var ps), category.ToString());
            Assert.Equal((int)ps, (int)category);
        }
    }
}
