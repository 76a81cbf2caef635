// Keyboard shortcuts for the inbox (j/k, h/l, /, d, ?), and copying the raw message from the page.
// Keys typed into a text field are typing, not shortcuts.
let listener = null;

function isTyping(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    const tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
}

export function attach(dotnet) {
    detach();
    listener = event => {
        if (event.ctrlKey || event.metaKey || event.altKey) return;
        if (event.key === "Escape") { dotnet.invokeMethodAsync("OnShortcutAsync", "Escape"); return; }
        if (isTyping(event.target)) return;
        if (event.key === "/") {
            event.preventDefault();
            const search = document.getElementById("inbox-search");
            if (search) { search.focus(); search.select(); }
            return;
        }
        if (["j", "k", "h", "l", "d", "?"].includes(event.key)) {
            event.preventDefault();
            dotnet.invokeMethodAsync("OnShortcutAsync", event.key);
        }
    };
    document.addEventListener("keydown", listener);
}

export function detach() {
    if (listener) document.removeEventListener("keydown", listener);
    listener = null;
}

export function scrollSelectedIntoView() {
    document.querySelector(".inbox-message--selected")?.scrollIntoView({ block: "nearest" });
}

// Copies what an element shows (the Raw tab's source is on the page already; no round trip).
export async function copyElementText(id) {
    const element = document.getElementById(id);
    return element ? await copyText(element.textContent) : false;
}

async function copyText(text) {
    try {
        await navigator.clipboard.writeText(text);
        return true;
    } catch {
        // No Clipboard API (plain http on another host): the old way.
        const area = document.createElement("textarea");
        area.value = text;
        area.setAttribute("readonly", "");
        area.style.position = "fixed";
        area.style.opacity = "0";
        document.body.appendChild(area);
        area.select();
        const copied = document.execCommand("copy");
        area.remove();
        return copied;
    }
}
