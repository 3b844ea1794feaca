//! The real `ovs-appctl` can drive a rovn daemon's control socket.

use daemon::unixctl::Unixctl;

#[tokio::test]
async fn ovs_appctl_reaches_builtins_and_daemon_commands() {
    if !testbed::require(&["ovs-appctl"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.ctl");
    let mut ctl = Unixctl::bind(&path, "rovn-test 0.1".into(), &["status"]).unwrap();
    tokio::spawn(async move {
        while let Some(req) = ctl.next().await {
            let r = match req.command.as_str() {
                "status" => Ok(format!("args={:?}\n", req.args)),
                "exit" => Ok(String::new()),
                c => Err(format!("\"{c}\" is not a valid command\n")),
            };
            req.reply(r);
        }
    });
    let appctl = |args: &[&str]| {
        let mut c = tokio::process::Command::new("ovs-appctl");
        c.arg("-t").arg(&path).args(args);
        async move { c.output().await.unwrap() }
    };
    let out = appctl(&["version"]).await;
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "rovn-test 0.1\n");
    let out = appctl(&["status", "a", "b"]).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "args=[\"a\", \"b\"]\n");
    let out = appctl(&["list-commands"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("  status\n"));
    let out = appctl(&["frobnicate"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid command"));
    assert!(appctl(&["exit"]).await.status.success());
}
